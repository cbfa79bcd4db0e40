from crm_tagging.main import main

main()

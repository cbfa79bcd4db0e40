from crm_followups.main import main

main()

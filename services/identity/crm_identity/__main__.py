from crm_identity.main import main

main()

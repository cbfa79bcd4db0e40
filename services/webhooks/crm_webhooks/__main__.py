from crm_webhooks.main import main

main()

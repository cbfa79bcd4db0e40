from crm_dev.cli import main

main()

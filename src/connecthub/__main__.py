from connecthub.cli import main

main()

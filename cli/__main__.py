from vercompare.app import main

main()

from mediaparser.cli import main

main()

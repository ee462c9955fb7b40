from kontosjef.cli import main

main()

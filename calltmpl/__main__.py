from calltmpl.cli import main

main()

from repl.cli.main import main

raise SystemExit(main())

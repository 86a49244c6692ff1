from sandbox.cli import main

raise SystemExit(main())  # main ends quietly on a closed pipe

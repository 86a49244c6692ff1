from sandbox.compare import main

raise SystemExit(main())

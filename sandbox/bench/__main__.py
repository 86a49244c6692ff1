from sandbox.bench.cli import main

raise SystemExit(main())

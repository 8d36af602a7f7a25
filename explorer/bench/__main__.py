from explorer.bench.run import main

raise SystemExit(main())

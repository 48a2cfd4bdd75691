from ossa_hooks.cli import main

raise SystemExit(main())

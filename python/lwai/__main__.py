from lwai.cli import main

raise SystemExit(main())

from emoshift.cli import main

raise SystemExit(main())

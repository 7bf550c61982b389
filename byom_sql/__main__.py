import sys

from byom_sql.cli.main import main

sys.exit(main())

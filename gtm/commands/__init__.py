"""The `gtm` command's subcommands: one module each, with its parser (`add_parser`) and what it
does (`run`); `options` declares the flags they share, once each."""

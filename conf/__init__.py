"""The toolkit's Hydra configs, importable as `toolkit.conf` (toolkit/conf links here) so that installed
entry points find them as `pkg://toolkit.conf`. Only the YAML files matter; there is no code here."""

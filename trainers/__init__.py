"""Training entry points: config -> data -> strategy -> model -> fit. The `tfgen` CLI lives here."""

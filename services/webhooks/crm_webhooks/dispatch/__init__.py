"""Fair dispatch: which waiting delivery gets the next free sender slot (docs/webhooks.md, "Fairness")."""

"""Documents: the comparison report, the policy book and the country brief (HTML, PNG)."""

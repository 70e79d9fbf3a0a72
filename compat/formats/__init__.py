"""compat's reports in the formats CI systems read: JUnit XML (`junit`) for test-report
panels, GitHub Actions workflow commands (`github`) for annotations. Both say why a case
failed in the same words (`verdicts`)."""

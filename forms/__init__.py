"""WTForms declarations: fields, labels and validators only; no app logic, no app imports."""

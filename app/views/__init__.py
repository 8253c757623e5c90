"""Web layer: screens generated from the model, the role's workbench, dashboards."""

"""Alerting rules, Alertmanager routing, dashboards and CloudWatch EMF generated from the SLO file."""

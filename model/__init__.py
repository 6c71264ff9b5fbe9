"""Defect-prediction model (planned: issue "Model")."""

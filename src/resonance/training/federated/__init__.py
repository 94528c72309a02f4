"""Federated co-training on Flower: member ClientApps, server logic, exchanged models."""

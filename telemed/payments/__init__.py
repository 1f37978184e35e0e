"""Payments: what patients pay for (payment orders), the mobile payment providers behind one
seam (`provider.PaymentProvider`), refunds and the daily reconciliation (docs/payments.md)."""

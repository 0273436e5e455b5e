-- alerts.drivers: what drives the alert (warehouse/alert_drivers.py), computed once when the alert is
-- stored, as JSON: the phrases over-represented in the window against the 28 days before, the sources
-- and products carrying it, and distinct authors against mentions. NULL for alerts stored before
-- this column existed (the email computes theirs when it is sent).
-- IF NOT EXISTS: a file whose version rows were rolled back applies this again.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS drivers JSON;

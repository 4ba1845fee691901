-- Version 11: a message can be paid. A payment message (payment_data) whose notice was paid —
-- through the payments domain's pay operation, "paid outside pagoPA" or later a receipt from
-- the node — records when; the IO API then shows payment_status PAID, reminders stop and the
-- ente's `paid` callback goes out. Keep in step with the other backend.
ALTER TABLE messages ADD COLUMN paid_at BIGINT;

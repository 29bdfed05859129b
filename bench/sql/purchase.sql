-- A purchase's database work without the application, for pgbench: the same row lock, balance
-- update and two inserts (the transaction and its two ledger lines) on credit_manager's own tables,
-- in one transaction. Variables: accounts (how many of bench_pgbench_account to pick from), amount.
\set n random(1, :accounts)
SELECT id AS account FROM bench_pgbench_account WHERE n = :n \gset
BEGIN;
SELECT balance FROM accounts_creditaccount WHERE id = ':account' FOR UPDATE;
UPDATE accounts_creditaccount SET balance = balance + :amount, version = version + 1, updated_at = now()
  WHERE id = ':account'
  RETURNING balance AS balance_after, credit_limit - balance AS available_after, gen_random_uuid() AS tx \gset
INSERT INTO ledger_ledgertransaction (id, account_id, type, direction, amount, description, external_reference,
                                      balance_after, available_after, reason, created_at)
  VALUES (':tx', ':account', 'purchase', 'debit', :amount, 'pgbench purchase', 'pgbench',
          :balance_after, :available_after, '', now());
INSERT INTO ledger_ledgerentry (transaction_id, ledger_account, credit_account_id, amount, created_at)
  VALUES (':tx', 'customer_receivable', ':account', :amount, now()),
         (':tx', 'merchant_settlement', NULL, -:amount, now());
END;

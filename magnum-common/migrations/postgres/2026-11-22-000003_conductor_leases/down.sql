DROP TABLE cluster_lease;
ALTER TABLE pending_operation DROP COLUMN auth_token;
ALTER TABLE pending_operation DROP COLUMN progress;
ALTER TABLE pending_operation DROP COLUMN not_before;

-- The conductor's bookkeeping: who works on a cluster (a lease with an expiry, so a
-- dead conductor's clusters are taken over), the caller's token an operation needs
-- until its trust exists, how far an operation got, and when to retry it.
CREATE TABLE cluster_lease (
    cluster_uuid VARCHAR(36) NOT NULL PRIMARY KEY,
    owner VARCHAR(255) NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
ALTER TABLE pending_operation ADD COLUMN auth_token TEXT;
ALTER TABLE pending_operation ADD COLUMN progress TEXT;
ALTER TABLE pending_operation ADD COLUMN not_before TIMESTAMP;

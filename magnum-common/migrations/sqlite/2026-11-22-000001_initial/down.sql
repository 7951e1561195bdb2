DROP TABLE pending_operation;
DROP TABLE federation;
DROP TABLE quotas;
DROP TABLE magnum_service;
DROP TABLE x509keypair;
DROP TABLE nodegroup;
DROP TABLE cluster;
DROP TABLE cluster_template;

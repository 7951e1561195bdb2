-- Lets template listings (own project OR public) use indexes instead of scanning every template.
CREATE INDEX ix_cluster_template_public ON cluster_template (public, hidden);

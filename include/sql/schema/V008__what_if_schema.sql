-- V008: what-if runs (CONTRACT §2) write beside the official marts, in their own schema: each mart's
-- twin what_if.<mart> (its columns plus the what-if name) is made on first use by fsm.transform.what_if.
-- Nothing in here is read by the official report. Idempotent.
create schema if not exists what_if;

-- The feeds read the newest public events of some kinds, or of a state change, newest first.
CREATE INDEX events_kind ON events(kind, id);
CREATE INDEX events_to_state ON events(to_state, id);

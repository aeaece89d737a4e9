-- RSVPs written through Skymeet (F23): one answer per person per event is looked up by owner and
-- subject, and an answer waiting for its PDS is a pending write of the RSVP collection whose
-- event_id is the event it answers.
create index rsvp_owner_subject_idx on rsvp (owner_id, subject_uri);
create index pending_write_event_idx on pending_write (event_id);

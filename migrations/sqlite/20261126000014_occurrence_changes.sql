-- What an organiser changed in one occurrence of a series besides cancelling it: when it takes
-- place instead (its `starts_at` stays the rule's, which names it) and the name it has instead.
alter table series_occurrence add column moved_to text;
alter table series_occurrence add column name text;

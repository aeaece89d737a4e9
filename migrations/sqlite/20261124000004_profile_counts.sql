-- Follower and following counts from the AppView, when one is configured (F5).
alter table app_user add column followers_count integer;
alter table app_user add column follows_count integer;

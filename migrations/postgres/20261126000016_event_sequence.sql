-- iCalendar's SEQUENCE (RFC 5545 §3.8.7.4): how many times an event changed since it was first
-- stored. Calendar apps that subscribed to a feed take a version with a higher number as newer.
alter table event add column sequence bigint not null default 0;

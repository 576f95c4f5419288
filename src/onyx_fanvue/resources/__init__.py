"""The client's resources; each area has a sync class and an async class with the same methods."""

from onyx_fanvue.resources.agencies import Agencies, AsyncAgencies
from onyx_fanvue.resources.audience import AsyncAudience, Audience
from onyx_fanvue.resources.chats import AsyncChats, Chats
from onyx_fanvue.resources.creators import AsyncCreators, Creators
from onyx_fanvue.resources.insights import AsyncInsights, Insights
from onyx_fanvue.resources.posts import AsyncPosts, Posts
from onyx_fanvue.resources.tracking_links import AsyncTrackingLinks, TrackingLinks
from onyx_fanvue.resources.users import AsyncUsers, Users

__all__ = [
    "Agencies",
    "AsyncAgencies",
    "AsyncAudience",
    "AsyncChats",
    "AsyncCreators",
    "AsyncInsights",
    "AsyncPosts",
    "AsyncTrackingLinks",
    "AsyncUsers",
    "Audience",
    "Chats",
    "Creators",
    "Insights",
    "Posts",
    "TrackingLinks",
    "Users",
]

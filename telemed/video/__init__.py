"""Video sessions: rooms, WebSocket signaling, TURN credentials, the aiortc server peer."""

"""The domain core: resource declarations, validation, policy, IPAM, services and the store.

No HTTP, numpy or simpy here. ``ControlPlane`` is the facade the API and scenarios drive.
"""

"""motcua_kit: the narrow kit of infrastructure and contracts the motcua services share.

Nothing here knows about dossiers or procedures: business rules live in each service.
"""

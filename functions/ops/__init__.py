"""Platform commands run by Justo's operators (not by organizations): create organizations, verify trails."""

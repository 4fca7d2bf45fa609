"""Communications: call logs, VoIP, email, SMS and WhatsApp to leads, with delivery status."""

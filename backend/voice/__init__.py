"""The voice hotline: Twilio Voice webhooks run through the IVR core (`bot.voice`) per CallSid."""

from django.conf import settings


def clinic(request):
    return {"clinic_short_name": settings.CLINIC_SHORT_NAME}

from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def dashboard(request):
    raise Http404("The therapist workspace is being built.")
